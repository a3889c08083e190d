"""SAM / CloudFormation templates turned into a typed resource graph (pure: no I/O of its own).

```python
from cloudlet.templates import Place, load_application
app = load_application(text, filename="template.yaml",
                       place=Place(account, region, stack_name, endpoint_url),
                       parameters={"Stage": "dev"}, read_file=lambda p: open(p).read())
for resource in app.resources.values(): ...
```

SAM resources are expanded by AWS's own transform (``aws-sam-translator``); the result is a
CloudFormation template whose intrinsic functions, parameters, conditions and mappings are
evaluated here. Errors are ``cloudlet.errors.InvalidTemplate`` naming file and line.
"""

from cloudlet.templates.application import Application, Resource, load_application
from cloudlet.templates.loader import LineIndex, load_template
from cloudlet.templates.resources import RECORDED, RUNNABLE, Names, Place
from cloudlet.templates.routes import ApiRoute, api_routes, state_machine_definition
from cloudlet.templates.sam import LOCAL_BUCKET, local_code_path

__all__ = [
    "LOCAL_BUCKET",
    "RECORDED",
    "RUNNABLE",
    "ApiRoute",
    "Application",
    "LineIndex",
    "Names",
    "Place",
    "Resource",
    "api_routes",
    "load_application",
    "load_template",
    "local_code_path",
    "state_machine_definition",
]
