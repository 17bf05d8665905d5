"""Placeholder: being written."""

from __future__ import annotations

from fastapi import APIRouter


def make_public_router(service) -> APIRouter:
    return APIRouter()
