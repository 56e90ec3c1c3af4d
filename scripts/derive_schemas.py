#!/usr/bin/env python3
"""Derives draft-07 JSON Schemas for the OpenAI wire types from the OpenAPI spec.

The spec (fixtures/contracts/openai/openapi.json, OpenAPI 3.1) keeps its schemas under
components/schemas and uses OpenAPI-only keywords. For each wire type this writes one standalone
draft-07 schema, fixtures/contracts/openai/<wire type>.schema.json, holding the type's schema and
every schema it references (transitively) under `definitions`, with:
  - `$ref`s rewritten from #/components/schemas/X to #/definitions/X;
  - `nullable: true` turned into `anyOf: [<schema>, {"type": "null"}]` (the 3.1 forms the spec
    already uses, type arrays and anyOf with {"type": "null"}, are draft-07 as they are);
  - `x-*` extension keys and the OpenAPI-only keywords (discriminator, example, deprecated, xml,
    externalDocs) dropped;
  - numeric bounds written as integers too large for int64 (the spec's seed bounds are
    +-9223372036854776000) written as floats: JSON Schema compares numbers by value, but
    valijson's nlohmann adapter reads such an integer as int64 and wraps it to a negative bound.
Only schema positions are rewritten: a property that happens to be named `example` stays.

  scripts/derive_schemas.py            # (re)write the schemas
  scripts/derive_schemas.py --check    # exit 1 and name the files that differ from the output

Python 3 standard library only.
"""
import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "fixtures" / "contracts" / "openai" / "openapi.json"
DEFAULT_OUT = ROOT / "fixtures" / "contracts" / "openai"

# Wire type (file name) -> the spec's schema name. Keep in step with core/openai/types.h.
WIRE_TYPES = {
    "chat_completion_request": "CreateChatCompletionRequest",
    "chat_completion_response": "CreateChatCompletionResponse",
    "chat_completion_chunk": "CreateChatCompletionStreamResponse",
    "embeddings_request": "CreateEmbeddingRequest",
    "embeddings_response": "CreateEmbeddingResponse",
    "moderation_request": "CreateModerationRequest",
    "moderation_response": "CreateModerationResponse",
    "model": "Model",
    "model_list": "ListModelsResponse",
    "error_body": "ErrorResponse",
}

REF_PREFIX = "#/components/schemas/"
OPENAPI_ONLY = {"discriminator", "example", "deprecated", "xml", "externalDocs", "nullable"}
# Keywords whose value is a map of name -> schema.
SCHEMA_MAPS = {"properties", "patternProperties", "definitions", "$defs", "dependentSchemas"}
# Keywords whose value is one schema (or, for items, a list of schemas; additional*: a boolean).
SCHEMA_VALUES = {"items", "additionalProperties", "additionalItems", "not", "if", "then", "else",
                 "contains", "propertyNames"}
SCHEMA_LISTS = {"anyOf", "oneOf", "allOf"}
NUMERIC_BOUNDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
INT64_MAX = 2**63 - 1
# Annotations that stay on the outside when a nullable schema is wrapped in anyOf.
ANNOTATIONS = {"title", "description", "default", "examples"}


def ref_name(ref):
    if not ref.startswith(REF_PREFIX):
        raise ValueError(f"unsupported $ref {ref!r}")
    return ref[len(REF_PREFIX):]


def convert(schema):
    """Returns the draft-07 form of one OpenAPI schema (booleans pass through)."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in OPENAPI_ONLY:
            continue
        if key == "$ref":
            out[key] = "#/definitions/" + ref_name(value)
        elif key in SCHEMA_MAPS:
            out[key] = {name: convert(item) for name, item in value.items()}
        elif key in SCHEMA_LISTS:
            out[key] = [convert(item) for item in value]
        elif key in NUMERIC_BOUNDS and isinstance(value, int) and not isinstance(value, bool) \
                and abs(value) > INT64_MAX:
            out[key] = float(value)
        elif key in SCHEMA_VALUES:
            out[key] = [convert(item) for item in value] if isinstance(value, list) else convert(value)
        else:
            out[key] = value
    if schema.get("nullable") is True:
        outer = {key: out.pop(key) for key in list(out) if key in ANNOTATIONS}
        outer["anyOf"] = [out, {"type": "null"}]
        out = outer
    return out


def references(schema, found):
    """Adds the names of every schema `schema` references to `found`."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                found.add(ref_name(value))
            else:
                references(value, found)
    elif isinstance(schema, list):
        for item in schema:
            references(item, found)


def derive(spec, root_name):
    schemas = spec["components"]["schemas"]
    needed, pending = set(), [root_name]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        if name not in schemas:
            raise KeyError(f"{root_name} references {name}, which the spec does not define")
        needed.add(name)
        found = set()
        references(schemas[name], found)
        pending.extend(sorted(found - needed))
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": root_name,
        "description": f"Derived from the OpenAI OpenAPI spec (components/schemas/{root_name}) "
                       "by scripts/derive_schemas.py; do not edit.",
        "allOf": [{"$ref": "#/definitions/" + root_name}],
        "definitions": {name: convert(schemas[name]) for name in sorted(needed)},
    }


def render(schema):
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=pathlib.Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true",
                        help="compare the committed schemas with the output instead of writing")
    args = parser.parse_args()

    with open(args.spec, encoding="utf-8") as spec_file:
        spec = json.load(spec_file)
    stale = []
    for wire_type, root_name in WIRE_TYPES.items():
        path = args.out / f"{wire_type}.schema.json"
        text = render(derive(spec, root_name))
        if args.check:
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != text:
                stale.append(str(path))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({len(text)} bytes)")
    if stale:
        print("out of date (run scripts/derive_schemas.py):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(WIRE_TYPES)} schemas match {args.spec.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
