"""python -m gateway api | worker | migrate"""

from gateway.settings import SERVICE, get_settings
from kit.cli import service_main

if __name__ == "__main__":
    service_main(SERVICE, get_settings, "gateway.app")
