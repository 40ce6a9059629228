"""The founding document's entry points: `python server.py` and `uvicorn server:app --reload`."""

from grok_imagine_api.app import create_app
from grok_imagine_api.cli import serve

app = create_app()

if __name__ == "__main__":
    serve()
