"""Drives Hookline's MCP server with the official MCP Python SDK, as an MCP client would.

Usage: sdk_client.py URL API_KEY TOOL ARGUMENTS_JSON BAD_ARGUMENTS_JSON
Prints one JSON object: the tools listed, and the results of a good and a bad call.
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def result(r):
    return {
        "isError": r.is_error,
        "text": [c.text for c in r.content if c.type == "text"],
    }


async def main(url, key, tool, arguments, bad_arguments):
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport) as client:
            listed = await client.list_tools()
            good = await client.call_tool(tool, arguments)
            bad = await client.call_tool(tool, bad_arguments)
            out = {
                "serverName": client.session.initialize_result.server_info.name,
                "protocolVersion": client.session.initialize_result.protocol_version,
                "tools": [
                    {"name": t.name, "description": t.description, "inputSchema": t.input_schema}
                    for t in listed.tools
                ],
                "good": result(good),
                "bad": result(bad),
            }
    print(json.dumps(out))


if __name__ == "__main__":
    url, key, tool, arguments, bad = sys.argv[1:6]
    asyncio.run(main(url, key, tool, json.loads(arguments), json.loads(bad)))
