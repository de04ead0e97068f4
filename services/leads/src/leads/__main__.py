"""python -m leads api | worker | migrate"""

from kit.cli import service_main
from leads.settings import SERVICE, get_settings

if __name__ == "__main__":
    service_main(SERVICE, get_settings, "leads.app")
