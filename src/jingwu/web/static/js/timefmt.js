/* Times in the deployment's time zone (the <body data-tz> the server sets), never the browser's:
   JW.fmtTime(iso) -> "2026-11-23 14:05:09 +08:00"; JW.zone() -> "Asia/Shanghai". */
(function () {
  "use strict";
  var JW = window.JW = window.JW || {};
  JW.zone = function () { return (document.body && document.body.dataset.tz) || "Asia/Shanghai"; };
  function parts(d, tz) {
    var f = new Intl.DateTimeFormat("en-GB", {timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"});
    var o = {};
    f.formatToParts(d).forEach(function (p) { o[p.type] = p.value; });
    return o;
  }
  JW.offset = function (d, tz) {
    var p = parts(d, tz);
    var asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    var mins = Math.round((asUtc - Math.floor(d.getTime() / 1000) * 1000) / 60000);
    var sign = mins < 0 ? "-" : "+";
    mins = Math.abs(mins);
    return sign + String(Math.floor(mins / 60)).padStart(2, "0") + ":" + String(mins % 60).padStart(2, "0");
  };
  /* opts: {zone: false} leaves the offset out, {date: false} shows the clock only, {seconds: false} */
  JW.fmtTime = function (iso, opts) {
    if (iso === null || iso === undefined || iso === "") { return ""; }
    opts = opts || {};
    var d = iso instanceof Date ? iso : new Date(iso);
    if (isNaN(d.getTime())) { return String(iso); }
    var tz = JW.zone(), p = parts(d, tz);
    var clock = p.hour + ":" + p.minute + (opts.seconds === false ? "" : ":" + p.second);
    var out = (opts.date === false ? "" : p.year + "-" + p.month + "-" + p.day + " ") + clock;
    return opts.zone === false ? out : out + " " + JW.offset(d, tz);
  };
}());
