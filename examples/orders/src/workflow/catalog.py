"""The product catalog the workflow's tasks check orders against (a stand-in for a product service)."""

from __future__ import annotations

from typing import TypedDict


class Product(TypedDict):
    name: str
    price: float
    stock: int
    hot: bool  # popular items whose stock rows are contended: the first reservation attempt is busy


CATALOG: dict[str, Product] = {
    "KB-100": {"name": "Mechanical keyboard", "price": 49.0, "stock": 500, "hot": False},
    "MS-200": {"name": "Wireless mouse", "price": 25.0, "stock": 800, "hot": False},
    "MN-300": {"name": "27-inch monitor", "price": 329.0, "stock": 120, "hot": False},
    "LP-900": {"name": "Laptop", "price": 1299.0, "stock": 40, "hot": False},
    "GPU-4090": {"name": "Graphics card", "price": 1599.0, "stock": 5, "hot": True},
    "CAM-050": {"name": "Webcam (discontinued)", "price": 59.0, "stock": 0, "hot": False},
}

MAX_QUANTITY_PER_LINE = 10
