"""Dispatch pages: the live board, the mobile unit view, KPIs, and the public
location-sharing page of the SMS link."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
