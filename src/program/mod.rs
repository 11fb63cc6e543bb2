//! Renders a resolved environment config into one Pulumi YAML program, and validates
//! programs against the provider schema. Pure: no I/O beyond embedded templates.
