"""OpenAPI 3 schemas as JSON Schema (Draft 2020-12), for the checks of tests/tools.

schema_validator(SPEC, NAME) reads an OpenAPI document and validates against its
components/schemas/NAME. The components are converted to one JSON Schema: each $ref to
#/components/schemas/NAME becomes #/$defs/NAME; OpenAPI 3.0's `nullable: true` adds "null" to the
type (or wraps the schema in anyOf with null) and its boolean exclusiveMinimum/Maximum become the
numeric form; a 3.0 $ref's siblings are dropped, as 3.0 ignores them; OpenAPI-only keywords
(discriminator, example, xml, externalDocs) and x-* extensions are dropped. Property names,
enum, const and default values are left alone.

Two options, for response objects, which OpenAI's descriptions leave looser than the objects
OpenAI sends:
- optional_nullable: a property an object schema does not list in `required` may be null, as
  OpenAI's own examples show (a Batch's unset time stamps and file ids are null);
- closed: an object schema with `properties` and no `additionalProperties` admits no other
  property, so a misspelt field name fails.
"""

import jsonschema
import yaml

DROPPED = {"discriminator", "example", "xml", "externalDocs"}
SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
SCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}
SCHEMA_VALUES = {"items", "additionalProperties", "not", "if", "then", "else", "contains",
                 "propertyNames", "unevaluatedProperties", "unevaluatedItems",
                 "additionalItems"}
REF_PREFIX = "#/components/schemas/"


def convert(node, openapi_30):
    """One OpenAPI schema object as a Draft 2020-12 schema."""
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        raise ValueError(f"not a schema object: {node!r:.80}")
    if openapi_30 and "$ref" in node:
        node = {"$ref": node["$ref"]}
    out = {}
    for key, value in node.items():
        if key.startswith("x-") or key in DROPPED or key == "nullable":
            continue
        if key == "$ref":
            if not value.startswith(REF_PREFIX):
                raise ValueError(f"$ref outside components/schemas: {value}")
            out[key] = "#/$defs/" + value[len(REF_PREFIX):]
        elif key in SCHEMA_MAPS:
            out[key] = {name: convert(schema, openapi_30) for name, schema in value.items()}
        elif key in SCHEMA_LISTS:
            out[key] = [convert(schema, openapi_30) for schema in value]
        elif key in SCHEMA_VALUES:
            out[key] = convert(value, openapi_30)
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            if value and bound in node:
                out[key] = node[bound]
        else:
            out[key] = value
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        bound = "minimum" if key == "exclusiveMinimum" else "maximum"
        if node.get(key) is True:
            out.pop(bound, None)
    if node.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"] if "null" not in types else types
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def loosen(node, optional_nullable, closed):
    """The converted schema with the options applied, recursively."""
    if isinstance(node, list):
        return [loosen(item, optional_nullable, closed) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: loosen(value, optional_nullable, closed) if key not in ("enum", "const", "default",
                                                                            "required")
           else value for key, value in node.items()}
    if "properties" in out and isinstance(out["properties"], dict):
        required = set(out.get("required", []))
        if optional_nullable:
            out["properties"] = {
                name: schema if name in required else {"anyOf": [schema, {"type": "null"}]}
                for name, schema in out["properties"].items()}
        if closed and "additionalProperties" not in out:
            out["additionalProperties"] = False
    return out


def schema_validator(spec_path, name, optional_nullable=False, closed=False):
    """A Draft 2020-12 validator for components/schemas/NAME of the OpenAPI document at
    spec_path. Raises OSError, KeyError, ValueError, yaml.YAMLError or jsonschema.SchemaError
    when the document cannot be read or converted."""
    with open(spec_path, encoding="utf-8") as file:
        spec = yaml.safe_load(file)
    openapi_30 = str(spec.get("openapi", "")).startswith("3.0")
    schemas = spec["components"]["schemas"]
    if name not in schemas:
        raise KeyError(f"{spec_path} has no components/schemas/{name}")
    defs = {key: loosen(convert(schema, openapi_30), optional_nullable, closed)
            for key, schema in schemas.items()}
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/$defs/" + name,
        "$defs": defs,
    }
    jsonschema.Draft202012Validator.check_schema(root)
    return jsonschema.Draft202012Validator(root)
