"""Helpers shared by plugins (CoreDNS's plugin/pkg)."""
