"""python -m privacy api | worker | migrate"""

from kit.cli import service_main
from privacy.settings import SERVICE, get_settings

if __name__ == "__main__":
    service_main(SERVICE, get_settings, "privacy.app")
