"""/v1: upstream flux-restful-api compatibility, with upstream's own client."""
