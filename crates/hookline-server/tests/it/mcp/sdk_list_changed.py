"""Holds a session of Hookline's MCP server with the official MCP Python SDK while a persona's tool
changes, as an assistant left connected would.

Usage: sdk_list_changed.py URL API_KEY TOOL_URL NEW_DESCRIPTION
Lists the tools, changes the tool at TOOL_URL (Hookline's API) to NEW_DESCRIPTION until the SDK
hears notifications/tools/list_changed (the SDK opens its GET stream on its own, a moment after
initialize), lists again. Prints one JSON object: the descriptions before and after, and how
many notifications came.
"""

import asyncio
import json
import sys

from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main(url, key, tool_url, description):
    heard = asyncio.Event()
    count = 0

    async def on_message(message):
        nonlocal count
        if isinstance(message, types.ToolListChangedNotification):
            count += 1
            heard.set()

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    # The same HTTP client, with the same key, changes the tool through Hookline's API.
    api = http
    async with http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, message_handler=on_message) as client:
            before = await client.list_tools()
            caps = client.session.initialize_result.capabilities
            for attempt in range(20):
                changed = await api.patch(tool_url, json={"description": f"{description} ({attempt})"})
                changed.raise_for_status()
                try:
                    await asyncio.wait_for(heard.wait(), 1.0)
                    break
                except asyncio.TimeoutError:
                    continue
            after = await client.list_tools()
            out = {
                "listChanged": caps.tools.list_changed if caps.tools else None,
                "before": [t.description for t in before.tools],
                "after": [t.description for t in after.tools],
                "notifications": count,
            }
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
