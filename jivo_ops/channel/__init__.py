"""The two vendors' wire protocols, and the one httpx seam they go through.

    jivo      Jivo's Chat API channel: the client, ClientMessage/AgentMessage
    jaicp     JAICP's Chat API (drive a bot as a client) and Reporter API (read its logs)
    switch    the `switch` reply a scenario pushes to hand a chat to an operator
    http      every httpx client jivo_ops makes: timeouts, Jivo's retry rule, masked logging
    serving   uvicorn on a pre-bound 127.0.0.1 socket, in a thread (recorder, sandbox)

Nothing here knows about profiles' files, scripts, stores or faces: the layers above use it.
"""
