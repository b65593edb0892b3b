"""Circuit notation: parse a circuit string into a tree of elements and evaluate it.

`grammar` parses impedance.py's notation (``L0-R0-p(R1,CPE1)``; a real parser, never
`eval`) and prints it back; `elements` defines every element (symbol, parameters with
units and bounds, impedance and analytic derivatives); `model` compiles a tree into a
`Circuit` with vectorised ``impedance(theta, f)`` and ``jacobian(theta, f)``; `layout`
describes a series chain of arcs for the batched solver and `closed_forms` holds the
chain's closed-form impedance and derivatives shared by numpy and the compiled kernel;
`parts` splits a fitted circuit into the arcs and series elements the physics reads.

Named after what it is (the language circuits are written in) so that it is not taken
for the top-level ``circuits/`` folder of named models (installed as ``eisfit.models``,
loaded by `eisfit.physics.models`).
"""
