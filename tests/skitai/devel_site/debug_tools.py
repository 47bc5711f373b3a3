"""A service the Atila app mounts with ``debug_only=True``: present only in debug mode."""


def __mount__(app, mntopt):
    @app.route("/tools")
    def tools(was):
        return "debug tools"
