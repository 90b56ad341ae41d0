"""Corefile reading: lexer, parser, server addresses, directive order and setup."""
