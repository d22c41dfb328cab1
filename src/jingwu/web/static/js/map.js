/* Overview map: Leaflet on a canvas, our own roads (no tile server),
   stations, fire stations, jurisdictions, towns, units. */
(function () {
  "use strict";
  const el = document.getElementById("map");
  const T = JSON.parse(el.dataset.i18n);
  const zh = T.lang === "zh-CN";
  const map = L.map(el, { preferCanvas: true, zoomControl: true, attributionControl: true, zoomSnap: 0.25 });
  map.attributionControl.setPrefix(false).addAttribution(T.attribution);
  L.control.scale({ imperial: false }).addTo(map);
  const canvas = L.canvas({ padding: 0.3 });
  const labels = JWLabels.attach(map, { lang: T.lang, avoid: "#map .station-label" });
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const roadStyle = {
    motorway: [4, "#c0392b"], trunk: [3.5, "#d35400"], primary: [3, "#e67e22"], secondary: [2.4, "#f1c40f"],
    tertiary: [2, "#95a5a6"], motorway_link: [2, "#c0392b"], trunk_link: [2, "#d35400"], primary_link: [2, "#e67e22"],
  };
  const api = (path) => fetch(path, { credentials: "same-origin" }).then((r) => {
    if (!r.ok) throw new Error(path + " " + r.status);
    return r.json();
  });
  const overlays = {};

  api("/api/v1/map/roads").then((gj) => {
    const layer = L.geoJSON(gj, {
      renderer: canvas,
      style: (f) => {
        const s = roadStyle[f.properties.highway] || [1.2, "#7f8c8d"];
        return { weight: s[0], color: s[1], opacity: 0.85 };
      },
      onEachFeature: (f, l) => { if (f.properties.name) l.bindTooltip(f.properties.name, { sticky: true }); },
    }).addTo(map);
    overlays[T.roads] = layer;
    map.fitBounds(layer.getBounds());
    document.getElementById("n-roads").textContent = gj.features.length;
    el.dataset.roads = String(gj.features.length);
    return api("/api/v1/agencies?geometry=true");
  }).then((agencies) => {
    // deactivated agencies, units and towns (administration) are out of service: not drawn
    const stations = agencies.filter((a) => a.kind === "station" && a.active !== false);
    const fire = agencies.filter((a) => a.kind === "fire_station" && a.active !== false);
    const jur = L.layerGroup(), st = L.layerGroup(), fs = L.layerGroup();
    const list = document.getElementById("station-list");
    stations.forEach((a, i) => {
      const color = palette[i % palette.length];
      if (a.jurisdiction) {
        L.geoJSON(a.jurisdiction, { renderer: canvas, style: { color: color, weight: 1.5, fillOpacity: 0.12 } })
          .bindTooltip((zh ? a.name : a.name_en || a.name)).addTo(jur);
      }
      if (a.lon != null) {
        L.circleMarker([a.lat, a.lon], { radius: 8, color: "#0b3d91", weight: 2, fillColor: "#fff", fillOpacity: 1 })
          .bindTooltip(zh ? a.name : a.name_en || a.name, { permanent: true, direction: "right", className: "station-label" })
          .addTo(st);
      }
      const li = document.createElement("li");
      li.innerHTML = '<span class="swatch"></span>';
      li.firstChild.style.background = color;
      li.appendChild(document.createTextNode(zh ? a.name : a.name_en || a.name));
      li.dataset.station = a.code;
      list.appendChild(li);
    });
    fire.forEach((a) => {
      if (a.lon != null) L.circleMarker([a.lat, a.lon], { radius: 7, color: "#c62828", weight: 2, fillColor: "#ffcdd2", fillOpacity: 1 })
        .bindTooltip("🚒 " + (zh ? a.name : a.name_en || a.name)).addTo(fs);
    });
    jur.addTo(map); st.addTo(map); fs.addTo(map);
    labels.refresh();  // place names keep clear of the station names
    overlays[T.jurisdictions] = jur; overlays[T.stations] = st; overlays[T.fire] = fs;
    document.getElementById("n-stations").textContent = stations.length;
    el.dataset.stations = String(stations.length);
    return Promise.all([api("/api/v1/units"), api("/api/v1/towns?geometry=true")]);
  }).then(([units, towns]) => {
    const ul = L.layerGroup(), tl = L.layerGroup();
    units.forEach((u) => {
      if (u.lon != null && u.active !== false) L.circleMarker([u.lat, u.lon], { radius: 4, color: "#1b7a3a", weight: 1, fillColor: "#2ecc71", fillOpacity: 0.9 })
        .bindTooltip(u.call_sign + " · " + u.status).addTo(ul);
    });
    towns.forEach((t) => {
      if (t.geometry && t.active !== false) L.geoJSON(t.geometry, { renderer: canvas, style: { color: "#444", weight: 1, dashArray: "4 3", fill: false } })
        .bindTooltip(`${zh ? t.name : t.name_en || t.name}<br>${T.population}: ${t.population.toLocaleString()}`).addTo(tl);
    });
    ul.addTo(map);
    overlays[T.units] = ul; overlays[T.towns] = tl; overlays[T.labels] = labels.layer;
    document.getElementById("n-units").textContent = units.length;
    L.control.layers(null, overlays, { collapsed: false }).addTo(map);
    el.dataset.status = "ready";
  }).catch((err) => { el.dataset.status = "error"; console.error(err); });
})();
