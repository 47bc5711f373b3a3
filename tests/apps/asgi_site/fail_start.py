"""An ASGI app whose lifespan startup fails: the server must stop with an error."""

import skitai


async def app(scope, receive, send):
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "the database is not there"})


skitai.mount("/", app)
skitai.run()
