"""Placeholder: being written."""

from __future__ import annotations

from fastapi import APIRouter


def make_staff_router(service) -> APIRouter:
    return APIRouter()
