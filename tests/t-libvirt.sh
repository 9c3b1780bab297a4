# libvirt domains as targets (-d DOMAIN -c URI), through libvirt's test
# driver (no daemon): a shut-off domain with a qcow2 and a raw disk is
# fixed and undone; a running one is refused with nothing written.
. "$TESTS/lib.sh"
[ -e /usr/lib/x86_64-linux-gnu/libvirt.so.0 ] || ls /usr/lib/*/libvirt.so.0 >/dev/null 2>&1 ||
	{ skip "libvirt's library is missing (make deps installs libvirt0)"; exit 0; }
"$HIVES/mkimage" "$(dirname "$MKHIVE")/ntfsput" b.raw mbr "$FIXTURES/sbs2003"
qemu-img convert -O qcow2 b.raw a.qcow2
cp b.raw on.raw
cp b.raw pristine.raw
cat >node.xml <<X
<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>sbs-off</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$PWD/a.qcow2'/><target dev='vda'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$PWD/b.raw'/><target dev='vdb'/></disk>
      <disk type='file' device='cdrom'><source file='$PWD/none.iso'/><target dev='hdc'/></disk>
    </devices>
    <test:runstate>5</test:runstate>
  </domain>
  <domain type='test'>
    <name>sbs-on</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$PWD/on.raw'/><target dev='vda'/></disk>
    </devices>
  </domain>
</node>
X
C="test://$PWD/node.xml"
nb 1 "a shut-off domain: check" check --json -c "$C" -d sbs-off
jqok "a shut-off domain: both disks, each in its own format (the cdrom skipped)" -s \
	'length == 2 and all(.[]; .status == "needs-fix") and (map(.target) | sort == ["'"$PWD"'/a.qcow2", "'"$PWD"'/b.raw"])' out
nb 0 "a shut-off domain: fix" fix -q -c "$C" -d sbs-off
nb 0 "a shut-off domain: check after it: clean" check -q -c "$C" -d sbs-off
check "a shut-off domain: qemu-img check finds the qcow2 clean" qemu-img check -q a.qcow2
nb 0 "a shut-off domain: undo" undo -q -c "$C" -d sbs-off
nb 1 "a shut-off domain: after undo, the work is back" check -q -c "$C" -d sbs-off
nb 3 "a running domain: refused" fix -c "$C" -d sbs-on
has "a running domain: says so, and what to do" err 'domain sbs-on is running: its disks are in use. Shut it down first'
check "a running domain: its disk is byte-identical" cmp -s on.raw pristine.raw
nb 3 "an unknown domain: refused" check -c "$C" -d nosuch
has "an unknown domain: names it, once" err '^nobounce: domain nosuch: Domain not found'
check "libvirt's own error printer is silenced" sh -c '! grep -q "^libvirt:" err'
nb 2 "-c without -d: a usage error" check -c "$C"
