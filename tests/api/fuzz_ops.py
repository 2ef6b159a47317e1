"""A small GraphQL operation generator for the schema fuzz: random valid operations from the
introspected schema (random arguments, random selections) and random broken ones.

Deterministic for a given random.Random; no dependencies beyond graphql-core.
"""
from __future__ import annotations

import json
import random

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
)

NASTY_STRINGS = ["", " ", "a", "clip.mp4", "../../etc/passwd", "%", "_", "\\", "'; DROP TABLE media_asset; --",
                 "\u202e\u0000x", "ünïcødé ☀", "x" * 3000, "{}", "null", "-1", "1e309", "H.264 720p"]
IDS = ["1", "2", "3", "0", "-1", "999999999", "9" * 30, "abc", "", "1.5", " 2 "]


def unwrap(t):
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        t = t.of_type
    return t


class OpGenerator:
    def __init__(self, schema: GraphQLSchema, rng: random.Random):
        self.schema = schema
        self.rng = rng

    # ------------------------------------------------------------------ values
    def value(self, t, depth: int = 0):
        rng = self.rng
        if isinstance(t, GraphQLNonNull):
            return self.value(t.of_type, depth)
        if rng.random() < 0.08:
            return None
        if isinstance(t, GraphQLList):
            return [self.value(t.of_type, depth + 1) for _ in range(rng.randint(0, 3))]
        if isinstance(t, GraphQLEnumType):
            return rng.choice(list(t.values))
        if isinstance(t, GraphQLInputObjectType):
            out = {}
            for name, field in t.fields.items():
                if isinstance(field.type, GraphQLNonNull) or rng.random() < 0.5:
                    out[name] = self.value(field.type, depth + 1)
            return out
        if isinstance(t, GraphQLScalarType):
            name = t.name
            if name == "ID":
                return rng.choice(IDS)
            if name == "Int":
                return rng.choice([0, 1, -1, 3, 20, 100, 101, 2**31 - 1, -(2**31), rng.randint(-1000, 1000)])
            if name == "Float":
                return rng.choice([0.0, 0.5, 1.0, 1.9, -3.25, 1e12, 59.999, rng.uniform(-10, 100)])
            if name == "Boolean":
                return rng.random() < 0.5
            if name == "String":
                return rng.choice(NASTY_STRINGS)
            if name == "JSON":
                return {"k": rng.choice(NASTY_STRINGS)}
            if name == "Upload":
                return rng.choice(["not-a-file", None])
            return rng.choice(NASTY_STRINGS)
        return None

    # ------------------------------------------------------------------ selections
    def selection(self, t, depth: int) -> str:
        t = unwrap(t)
        if not isinstance(t, GraphQLObjectType):
            return ""
        fields = list(t.fields.items())
        leaves = [(n, f) for n, f in fields if not isinstance(unwrap(f.type), GraphQLObjectType) and not f.args]
        objects = [(n, f) for n, f in fields if isinstance(unwrap(f.type), GraphQLObjectType) and not f.args]
        chosen = self.rng.sample(leaves, k=min(len(leaves), self.rng.randint(1, 4))) if leaves else []
        parts = [n for n, _ in chosen]
        if objects and depth < 4 and (not parts or self.rng.random() < 0.6):
            for name, field in self.rng.sample(objects, k=min(len(objects), self.rng.randint(1, 2))):
                inner = self.selection(field.type, depth + 1)
                if inner:
                    parts.append(f"{name} {inner}")
        if not parts:
            parts = ["__typename"]
        return "{ " + " ".join(parts) + " }"

    def valid(self) -> tuple[str, dict]:
        rng = self.rng
        root_name, root = rng.choice([("query", self.schema.query_type), ("mutation", self.schema.mutation_type)])
        field_name, field = rng.choice(list(root.fields.items()))
        var_defs, args, variables = [], [], {}
        for i, (arg_name, arg) in enumerate(field.args.items()):
            if not isinstance(arg.type, GraphQLNonNull) and rng.random() < 0.4:
                continue
            var = f"v{i}"
            var_defs.append(f"${var}: {arg.type}")
            args.append(f"{arg_name}: ${var}")
            variables[var] = self.value(arg.type)
        head = f"{root_name} Fuzz({', '.join(var_defs)})" if var_defs else root_name
        call = f"{field_name}({', '.join(args)})" if args else field_name
        return f"{head} {{ {call} {self.selection(field.type, 1)} }}", variables

    def broken(self) -> tuple[str, dict]:
        rng = self.rng
        query, variables = self.valid()
        kind = rng.randrange(8)
        if kind == 0:
            cut = rng.randrange(1, len(query))
            return query[:cut], variables
        if kind == 1:
            return query.replace("{", "", 1), variables
        if kind == 2:
            return query.replace("}", " unknownField }", 1), variables
        if kind == 3:  # wrong variable types
            return query, {k: rng.choice([[], {}, "x", 1.5, True, None]) for k in variables}
        if kind == 4:
            return "{ " + "jobs { edges { node { source { " * 6 + "id" + " } } } }" * 6 + " }", {}
        if kind == 5:
            return "".join(chr(rng.randint(1, 0x2FF)) for _ in range(rng.randint(1, 200))), {}
        if kind == 6:
            return "{ " + " ".join(f"a{i}: presets {{ id }}" for i in range(rng.randint(31, 60))) + " }", {}
        return json.dumps(variables) + query[::-1], variables
