"""Setting the hand-over up and checking it: the seed's four steps as findings, live probes of
each service, and probes of each leg of the hand-over (Jivo → JAICP, JAICP → Jivo).

    checks    check_profile (findings J001…, each with a fix), run_probes (the services answer)
    probes    probe_jivo_leg, probe_jaicp_leg (one message each way, with evidence)
    diagnose  diagnose → Diagnosis: all of them in order, one verdict (which half, which field, the fix)
"""
