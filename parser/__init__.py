"""The language: grammar.lark and the builder that turns text into a graph Program."""

from .build import parse

__all__ = ["parse"]
