"""Templates: Jinja2 pages from templates/ beside this module, with a global and a filter."""

import atila

app = atila.Atila(__name__)
PHOTOS = [{"title": "Sunset", "likes": 1200}, {"title": "<b>Dawn</b>", "likes": 7}]


@app.template_filter("thousands")
def thousands(number):
    """``{{ n|thousands }}``: 1200 -> 1.2k."""
    return f"{number / 1000:.1f}k" if number >= 1000 else str(number)


@app.template_global("site_name")
def site_name(was):
    """``{{ site_name() }}``: a global gets ``was`` first, given by Atila."""
    return "Photos at " + was.request.get_header("host", "localhost")


@app.route("/", methods=["GET"])
def index(was):
    """Render templates/photos.html; a returned string is sent as text/html."""
    return was.render("photos.html", photos=PHOTOS)
