# bash completion for nobounce(1).  The options come from the binary itself
# (nobounce [COMMAND] --long-options / --short-options), so this file never
# lists one and cannot drift from it.
_nobounce()
{
	local cur prev words cword
	_init_completion || return

	local commands="check fix undo commit recover"
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
		local opts
		opts="$("$1" $cmd --long-options 2>/dev/null) $("$1" $cmd --short-options 2>/dev/null)"
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	# targets: directories, images and devices
	_filedir
} &&
	complete -F _nobounce nobounce
