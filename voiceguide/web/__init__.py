"""`voiceguide serve`: the phone page over HTTP (routes in `app`, renders cached in
`renders`), and the page's static files (`static/`, plain HTML, CSS and JavaScript)."""
