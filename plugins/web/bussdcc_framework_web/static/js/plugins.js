/* The plugins page is server-rendered; the connection only shows that the system is live. */
"use strict";
Bus.connect({}, { types: ["-*"] });
