"""Use cases as plain functions. Each takes a UnitOfWork and an Actor, flushes but never commits."""
