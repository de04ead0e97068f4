"""python -m telephony api | worker | migrate"""

from kit.cli import service_main
from telephony.settings import SERVICE, get_settings

if __name__ == "__main__":
    service_main(SERVICE, get_settings, "telephony.app")
