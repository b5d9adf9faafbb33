# {{ number }}. {{ title }}

- Status: proposed
- Date: {{ date }}

## Context

What forces are at play? What problem does this decision answer?

## Decision

What we will do, stated in full sentences.

## Consequences

What becomes easier, what becomes harder, and what we will watch.
