//! Shared helpers live in the tests.
