"""A remote MCP server made with the official SDK's MCPServer (FastMCP before mcp 2), for a persona
to use as a tool source. Serves Streamable HTTP on 127.0.0.1:PORT/mcp.

Usage: remote_server.py PORT
"""

import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("orders")


@server.tool()
def lookup_order(order_id: str, ctx: Context) -> str:
    """Look up an order's status and tracking number."""
    headers = ctx.headers or {}
    return (
        f"Order {order_id} has shipped; tracking number 1Z999AA10123456784. "
        f"(authorization seen: {headers.get('authorization', 'none')})"
    )


@server.tool()
def refund_order(order_id: str) -> str:
    """Refund an order."""
    return f"Order {order_id} refunded."


@server.tool()
def cancel_order(order_id: str) -> str:
    """Cancel an order (always fails: the warehouse has it)."""
    raise ToolError(f"order {order_id} cannot be cancelled: it left the warehouse")


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
