"""Errors as data: vendor codes for the REST surface, simulator errors for the control plane."""

from __future__ import annotations

# Appendix 1 of the reference, verbatim (including its spelling). 15707 is not in Appendix 1;
# its text comes from the interval setting's error table (see FIDELITY.md).
MESSAGES: dict[int, str] = {
    15101: "token verification failed",
    15100: "incorrect platform info",
    15004: "parameter error",
    15001: "server error",
    15102: "device not found",
    15103: "iot not unmatched platform",
    15104: "please wait until the last request has it's response",
    15300: "inactive device",
    15301: "offline device",
    15302: "device response timeout",
    15303: "command send failed",
    15305: "device update message is invalid",
    15304: "IoT is not binding to the vehicle",
    15400: "latest location not found via device",
    15500: "device upgrading: command can not be executed",
    15600: "lock failed: vehicle is riding",
    15601: "device lock command failed",
    15602: "device lock failed: network error",
    15603: "bike has been used",
    15611: "device unlock command failed",
    15612: "device unlock failed: network error",
    15614: "Mech-Lock unlock false throttle is on",
    15613: "Mech-Lock unlock false",
    15704: "the device is in dormancy",
    15701: "the device is unlocked",
    15702: "the device is not in teleoperation mode",
    15705: "This feature is not supported on the vehicle",
    15706: "This command is not supported in the current mode",
    15707: "NOT supported by this vehicle or its firmware",
    15620: "startRental failed",
    15621: "startRental failed: network error",
    15622: "startRental failed: handlebar failed",
    15623: "startRental success, but open saddle failed",
    15624: "startRental success, but open tailbox failed",
    15625: "startRental success, but tailbox and saddle failed",
    15627: "endRental failed: vehicle is riding",
    15628: "endRental failed",
    15629: "endRental: network error",
    15630: "endRental failed: handlebar lock failed",
    15631: "endRental failed: no return helmet",
    15632: "endRental failed: saddle lock failed",
    15633: "endRental failed: tailbox lock failed",
    15634: "endRental failed: tailbox and saddle lock failed",
    15635: "open failed, please operate when mopeds is unlocking",
    15636: "handlebar lock failed",
    15637: "handlebar unlock failed",
    15638: "device execute failure",
}


class VendorError(Exception):
    """A vendor status code; the server renders it as the vendor envelope in one place."""

    def __init__(self, code: int, detail: str | None = None) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown vendor code {code}")
        super().__init__(f"{code} {MESSAGES[code]}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.msg = MESSAGES[code]
        # Why the simulator chose this code (journaled, never sent: the vendor sends only msg).
        self.detail = detail


class SimError(Exception):
    """Misuse of the control plane: HTTP 400 (or `status`) with a JSON error naming the field."""

    def __init__(self, field: str | None, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.status = status

    def to_json(self) -> dict[str, object]:
        return {"error": self.message, "field": self.field}
