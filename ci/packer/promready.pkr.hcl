# Checks an unpacked node image with promready: `promready fix` applies the safe
# fixes, then `promready scan` fails the build if any error remains, listing
# every finding that is left in one line. Warnings are listed and do not fail
# the build; a path that is not a node image does.
#
#   packer build -var rootfs=/path/to/rootfs ci/packer/promready.pkr.hcl
#
# In an image template, add the `provisioner "shell-local"` block below to the
# build that produces the root filesystem.

variable "rootfs" {
  type        = string
  description = "The unpacked root filesystem of the node image (a directory with etc/ and usr/)."
}

variable "promready" {
  type        = string
  default     = "promready"
  description = "The promready binary (a name on PATH or a path)."
}

variable "fix" {
  type        = bool
  default     = true
  description = "Apply promready's safe fixes before the check; false only checks."
}

source "null" "rootfs" {
  communicator = "none"
}

build {
  sources = ["source.null.rootfs"]

  provisioner "shell-local" {
    environment_vars = [
      "PROMREADY=${var.promready}",
      "ROOTFS=${var.rootfs}",
      "PROMREADY_FIX=${var.fix}",
    ]
    inline = [
      # fix exits 1 when findings remain (warnings included): the scan decides.
      # Any other status (2: not a node image, an unreadable file) stops here.
      "if [ \"$PROMREADY_FIX\" = true ]; then \"$PROMREADY\" fix --quiet \"$ROOTFS\" || [ $? -eq 1 ]; fi",
      "\"$PROMREADY\" scan --quiet --output-format concise --fail-on error \"$ROOTFS\"",
    ]
  }
}
