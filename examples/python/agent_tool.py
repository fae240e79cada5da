#!/usr/bin/env python3
"""An LLM tool that runs untrusted code in a throwaway SmolVM.

`execute_code_in_sandbox` is the function to hand to a tool-calling model
(OpenAI, Anthropic, or any agent framework): it takes Python source, runs it
in a fresh microVM with its own kernel, and returns what a user would see.
The VM is deleted afterwards, whatever the code did.

Run the demo (no model needed; it plays the tool calls a model would make):
    PYTHONPATH=build/bindings/python python3 examples/python/agent_tool.py
"""

from __future__ import annotations

import json
from typing import Any, Dict

from smolvm import SmolVM, SmolVMError, TimeoutError

#: The tool's description in the JSON-schema form tool-calling APIs expect.
TOOL_SCHEMA: Dict[str, Any] = {
    "name": "execute_code_in_sandbox",
    "description": ("Run Python 3 code in an isolated, disposable Linux VM and return "
                    "its output (stdout, then stderr) and exit code. Nothing persists "
                    "between calls."),
    "parameters": {
        "type": "object",
        "properties": {"code": {"type": "string", "description": "Python 3 source to run"}},
        "required": ["code"],
    },
}


def execute_code_in_sandbox(code: str) -> str:
    """Runs Python code in a fresh SmolVM and returns its output as text.

    The code is written to a file in the guest (no shell quoting issues)
    and run with a 30 s limit; the VM is stopped and deleted on return.
    Failures come back as text too, so the model can read and react.
    """
    try:
        with SmolVM(mem_size_mib=512) as vm:
            vm.write_file("/tmp/main.py", code)
            result = vm.run(["python3", "/tmp/main.py"], timeout=30)
            if result.ok:
                return result.combined
            return f"{result.combined}\n[exit code {result.exit_code}]"
    except TimeoutError as err:
        partial = err.result.combined if err.result else ""
        return f"{partial}\n[timed out after 30 s]"
    except SmolVMError as err:
        return f"[sandbox error {err.code}: {err}]"


TOOLS = {"execute_code_in_sandbox": execute_code_in_sandbox}


def dispatch(tool_call: Dict[str, Any]) -> str:
    """Runs one tool call as a model emits it: {"name", "arguments" (JSON)}."""
    fn = TOOLS[tool_call["name"]]
    return fn(**json.loads(tool_call["arguments"]))


def main() -> None:
    calls = [
        {"name": "execute_code_in_sandbox",
         "arguments": json.dumps({"code": "import platform\nprint(sum(range(101)), "
                                          "platform.release())"})},
        {"name": "execute_code_in_sandbox",
         "arguments": json.dumps({"code": "import os\nos.system('rm -rf /usr/bin')\n"
                                          "print('the host is fine; only this VM broke')"})},
        {"name": "execute_code_in_sandbox",
         "arguments": json.dumps({"code": "raise ValueError('bad input')"})},
    ]
    print("tool schema:", json.dumps(TOOL_SCHEMA)[:80], "...")
    for call in calls:
        print(f"--> {json.loads(call['arguments'])['code']!r}")
        print(f"<-- {dispatch(call)!r}")


if __name__ == "__main__":
    main()
