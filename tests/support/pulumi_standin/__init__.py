"""The pulumi stand-in: a test double for the `pulumi` CLI. Never presented as pulumi: besides
the tests, only byoc's SIMULATED engine runs it (`byoc dev`, BYOC_EXECUTOR=simulated, the image's
`local` target, which copies this package unchanged), labelled "nothing is deployed".

`tests/support/pulumi-standin` is the executable; this package holds its parts. Every behaviour
that copies the real CLI or AWS carries a comment naming its source (pulumi/pulumi paths are at
commit 1b5949891b3c, CLI 3.260.0); where no source was found, the comment says so.
docs/test-doubles.md lists what is modelled, what is simplified and every test knob.
"""
