# bash completion for nobounce(1)
_nobounce()
{
	local cur prev words cword
	_init_completion || return

	local commands="check fix undo commit recover"
	local common="-v -q --json --format -j --jobs --from --timeout --help --version"
	local cmd="" w
	for w in "${words[@]:1:cword-1}"; do
		case $w in check | fix | undo | commit | recover) cmd=$w; break ;; esac
	done

	case $prev in
	--format)
		COMPREPLY=($(compgen -W "auto raw qcow2 vmdk vpc vhdx vdi" -- "$cur"))
		return ;;
	--backup-dir)
		_filedir -d
		return ;;
	--from | -o | --output)
		_filedir
		return ;;
	-j | --jobs | --timeout)
		return ;;
	esac

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		local opts=$common
		case $cmd in
		fix) opts="$opts --backup --backup-dir --no-recover --degraded --resync-mirror" ;;
		undo) opts="$opts --force --backup-dir --degraded --resync-mirror" ;;
		commit) opts="$opts --backup-dir" ;;
		check) opts="$opts --degraded --no-recover" ;;
		recover) opts="--json -o --output" ;;
		esac
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	# targets: directories, images and devices
	_filedir
} &&
	complete -F _nobounce nobounce
