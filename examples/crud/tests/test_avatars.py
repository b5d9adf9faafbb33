"""Avatars: the bytes decide what an upload is, never the type the client declares.

Only whole PNG, JPEG, GIF and WebP images are kept; they are served with the type found in
their bytes and ``X-Content-Type-Options: nosniff``, so no upload is ever read as a page.
"""

from __future__ import annotations

import struct

from apps.main.models.user import User
from tests.pages import errors_on

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)  # a whole 1 by 1 PNG
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffda0008010100003f00d2cf20ffd9")
VP8L = b"\x2f\x00\x00\x00\x00\x00"
WEBP = b"RIFF" + struct.pack("<I", 4 + 8 + len(VP8L)) + b"WEBP" + b"VP8L"
WEBP += struct.pack("<I", len(VP8L)) + VP8L
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">'
    b"<script>alert(document.cookie)</script></svg>"
)
ACCEPTED = "The avatar must be a PNG, JPEG, GIF or WebP image."
DAMAGED = "The avatar is damaged or incomplete: upload a whole PNG, JPEG, GIF or WebP image."


async def _upload(browser, member, content: bytes, declared: str):
    await browser.get(f"/users/{member['id']}/edit")
    return await browser.submit(
        f"/users/{member['id']}",
        {"email": member["email"], "name": member["name"], "password": "", "locale": "en"},
        files={"avatar": ("me.png", content, declared)},
    )


async def _stored(app, member):
    user = await app.ctx().db().get(User, member["id"])
    return user["avatar"], user["avatar_type"]


async def test_html_declared_as_a_png_is_refused(app, browser, member):
    await browser.login(member["email"], member["password"])
    page = await _upload(browser, member, HTML, "image/png")
    assert page.status_code == 422
    assert errors_on(page) == [ACCEPTED]
    assert await _stored(app, member) == (None, None)


async def test_an_svg_with_a_script_is_refused_whatever_it_is_declared_as(app, browser, member):
    await browser.login(member["email"], member["password"])
    for declared in ("image/svg+xml", "image/png"):
        page = await _upload(browser, member, SVG, declared)
        assert (page.status_code, errors_on(page)) == (422, [ACCEPTED])
    assert await _stored(app, member) == (None, None)


async def test_a_truncated_or_corrupted_png_is_refused(app, browser, member):
    await browser.login(member["email"], member["password"])
    corrupted = bytearray(PNG)
    corrupted[40] ^= 0xFF  # inside IDAT: its CRC no longer matches
    for broken in (PNG[:-12], PNG[:33], bytes(corrupted), GIF[:-1], JPEG[:-2], WEBP[:-2]):
        page = await _upload(browser, member, broken, "image/png")
        assert (page.status_code, errors_on(page)) == (422, [DAMAGED]), broken
    assert await _stored(app, member) == (None, None)


async def test_the_api_refuses_a_disguised_upload_naming_the_accepted_types(app, client, member):
    token = (await client.get("/api/session")).json()["data"]["csrf_token"]
    login = {"email": member["email"], "password": member["password"]}
    await client.post("/api/login", json=login, headers={"x-csrf-token": token})
    token = (await client.get("/api/session")).json()["data"]["csrf_token"]  # a new session's
    refused = await client.patch(
        f"/api/users/{member['id']}",
        files={"avatar": ("x.png", HTML, "image/png")},
        headers={"x-csrf-token": token},
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "users.avatar_type" and "PNG, JPEG, GIF or WebP" in error["message"]
    assert error["details"]["accepted"] == ["image/png", "image/jpeg", "image/gif", "image/webp"]
    assert await _stored(app, member) == (None, None)


async def test_images_are_kept_and_served_with_the_type_their_bytes_show(app, browser, member):
    await browser.login(member["email"], member["password"])
    for content, declared, found in [
        (PNG, "application/octet-stream", "image/png"),
        (GIF, "image/png", "image/gif"),
        (JPEG, "image/jpeg", "image/jpeg"),
        (WEBP, "image/png", "image/webp"),
    ]:
        page = await _upload(browser, member, content, declared)
        assert page.status_code == 200 and not errors_on(page), found
        assert await _stored(app, member) == (content, found)
        served = await browser.http.get(f"/users/{member['id']}/avatar")
        assert (served.content, served.headers["content-type"]) == (content, found)
        assert served.headers["x-content-type-options"] == "nosniff"


async def test_a_stored_avatar_that_is_no_image_is_never_served(app, browser, member):
    # rows written before the check, or by hand: the bytes are checked again on the way out
    db = app.ctx().db()
    await db.update(User, {"avatar": HTML, "avatar_type": "image/png"}, User.id == member["id"])
    await browser.login(member["email"], member["password"])
    served = await browser.http.get(f"/users/{member['id']}/avatar")
    assert served.status_code == 404
    assert b"<script>" not in served.content
