"""Check an HTCondor submit description with HTCondor's own parser (no pool needed).

Reads the description on stdin; exits 1 with the parser's complaint, else prints the commands it
read as JSON. Every `+Attribute` (MY.Attribute) value must be a valid ClassAd expression.
Used by tests/cluster_condor.rs; needs the htcondor bindings (`pip install htcondor`).
"""
import json
import sys

try:
    import htcondor2 as htcondor
    import classad2 as classad
except ImportError:  # bindings before 24.x
    import htcondor
    import classad

text = sys.stdin.read()
try:
    sub = htcondor.Submit(text)
except Exception as e:  # the bindings raise their own exception types
    print(f"htcondor rejected the submit description: {e}", file=sys.stderr)
    sys.exit(1)
items = dict(sub.items())
for key, value in items.items():
    if key.startswith("MY.") or key.startswith("+"):
        try:
            classad.ExprTree(value)
        except Exception as e:
            print(f"{key} = {value} is not a ClassAd expression: {e}", file=sys.stderr)
            sys.exit(1)
print(json.dumps({"commands": items, "queue": str(sub.getQArgs())}))
