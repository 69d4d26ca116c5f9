#!/usr/bin/env bash
# Selecting plugins with environment variables (run from the workspace: uv run bash examples/select-plugins.sh).
#
#   BUSSDCC_PLUGINS unset        every installed plugin
#   BUSSDCC_PLUGINS=""           none
#   BUSSDCC_PLUGINS=jsonl,web    only these (distribution or entry-point names; case, -, _ and . do not matter)
#   BUSSDCC_DISABLE_PLUGINS=web  all but these; they are not even imported
# The same variables apply to `bussdcc run`, `bussdcc replay` and Runtime.from_plugins().
set -euo pipefail

loaded() {  # print the names of the loaded plugins on one line
  bussdcc plugins --json | python3 -c 'import json, sys; print(" ".join(sorted(p["name"] for p in json.load(sys.stdin) if p["status"] == "loaded")) or "(none)")'
}

echo "all installed:                 $(env -u BUSSDCC_PLUGINS -u BUSSDCC_DISABLE_PLUGINS bash -c "$(declare -f loaded); loaded")"
echo "BUSSDCC_PLUGINS=jsonl,console: $(BUSSDCC_PLUGINS=jsonl,console loaded)"
echo "BUSSDCC_PLUGINS= (empty):      $(BUSSDCC_PLUGINS= loaded)"
echo "BUSSDCC_DISABLE_PLUGINS=web:   $(env -u BUSSDCC_PLUGINS BUSSDCC_DISABLE_PLUGINS=web bash -c "$(declare -f loaded); loaded")"
echo "a misspelt name is reported on stderr, and the rest still works:"
BUSSDCC_PLUGINS=jsnol,console bussdcc plugins --json 2>&1 >/dev/null
