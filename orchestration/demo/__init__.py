"""Demo data: a synthetic agency's agent workflows as real OTLP/JSON traces, evaluations and labels.

`generate_demo` writes them; `otlp` is the writer every generator (demo, benchmark, tests) goes
through, so what the pipeline reads is what a Collector would have written.
"""

from orchestration.demo.generate import DemoSummary, generate_demo

__all__ = ["DemoSummary", "generate_demo"]
