"""Plugins that ship with routellm-core; they register exactly like external ones."""
