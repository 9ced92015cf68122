"""`--role watcher` and `--role web`: one process reads the workspace, others serve viewers.

    watcher ──Redis channel layer ("relay")──▶ web, web, web ...  ──WebSocket──▶ pages
            ◀── snapshot requests, actions ──

`protocol` names the messages; `watcher` publishes the live state and carries out actions;
`web` mirrors that state into this process's `runtime.STATE` and panels (the consumers and
views then work as in `--role all`), forwards actions and reports its health; `mirrors`
stand in for the services a web process does not run; `views` and the two URLconfs are the
HTTP edge of each role.
"""
