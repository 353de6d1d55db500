#!/usr/bin/env python3
"""The comparison point: a minimal Slack Bolt for Python app (AsyncApp on its aiohttp server) whose
`/incident` handler only acknowledges. Bolt still verifies every request's signature and timestamp.

    bolt_app.py PORT FAKE_SLACK_PORT        # SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN from the environment

Its Web API client points at the fake Slack Klaxon's side uses (klaxon-fake-slack, which takes the same
SLACK_BOT_TOKEN), so nothing leaves the machine. Bolt calls its auth.test for the token when the first
requests come (the fake's /stats counts them).
"""
import logging
import os
import sys

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

logging.basicConfig(level=logging.WARNING)
port, fake_port = int(sys.argv[1]), int(sys.argv[2])
app = AsyncApp(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    # The bot token goes with the client, which Bolt then uses for its single workspace.
    client=AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url="http://127.0.0.1:%d/api/" % fake_port),
)


@app.command("/incident")
async def incident(ack):
    await ack()


if __name__ == "__main__":
    # The same path as Klaxon's, so both sides get byte-identical kinds of requests.
    app.start(port=port, path="/slack/commands", host="127.0.0.1")
