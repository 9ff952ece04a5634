"""Readers of every log source, each into rows of the one schema (`jivo_ops.logs.schema`).

    reporter          Reporter API pages (saved JSON, or live)
    exports           the Reporter's CSV/XLSX exports
    recorder_store    a webhook recorder's SQLite store
    transfer_jsonl    test-transfer results (JSONL)
    jivo_dumps        raw Jivo Chat API bodies
    events            the flat events JSONL/CSV/Parquet of the schema itself
"""
