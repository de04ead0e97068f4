"""python -m funnel api | worker | migrate"""

from funnel.settings import SERVICE, get_settings
from kit.cli import service_main

if __name__ == "__main__":
    service_main(SERVICE, get_settings, "funnel.app")
