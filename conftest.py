"""Import the first-party packages before pytest collects: in importlib mode it would otherwise
register a repository folder of the same name (sandbox/, contracts/, kit/) as an empty namespace
package and hide the real one under src/."""

import contracts  # noqa: F401
import kit  # noqa: F401
import sandbox  # noqa: F401
