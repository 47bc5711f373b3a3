"""A FastAPI app for tests/skitai/test_asgi_live.py: path, query and JSON body binding,
validation errors, lifespan state and a WebSocket."""

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, WebSocket
from pydantic import BaseModel


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield {"greeting": "hello from the fastapi lifespan"}


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float


@app.put("/items/{item_id}")
async def put_item(item_id: int, item: Item, q: str | None = None) -> dict:
    return {"item_id": item_id, "name": item.name, "price": item.price, "q": q}


@app.get("/state")
async def state(request: Request) -> dict:
    return {"greeting": request.state.greeting}


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    data = await websocket.receive_json()
    await websocket.send_json({"sum": sum(data["numbers"])})
    await websocket.close()
