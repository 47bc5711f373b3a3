"""Serve hello.py: what the live test starts."""

import os

import skitai

if __name__ == "__main__":
    skitai.mount("/", os.path.join(os.path.dirname(os.path.abspath(__file__)), "hello.py"), "app")
    skitai.run(ip="127.0.0.1", port=5000)
