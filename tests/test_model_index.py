"""The model index for OpenMMLab's tools: ``model-index.yml`` imports one
``metafile.yml`` per config folder, each listing every leaf config of its
folder; ``mim search mmvis_pretrain`` lists them and mmengine's
``mmvis_pretrain::`` scope still resolves configs with the metafiles in
place."""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.fileio import load

from conftest import REPO

PKG_MIM = osp.join(REPO, 'mmvis_pretrain', '.mim')
CONFIG_ROOT = osp.join(REPO, 'configs')
TASKS = {
    'Video Instance Segmentation', 'Instance Segmentation', 'Object Detection'
}
DATASETS = {'COCO', 'YouTube-VIS 2019', 'YouTube-VIS 2021', 'OVIS'}


def _config_folders():
    return sorted(d for d in os.listdir(CONFIG_ROOT)
                  if d != '_base_' and osp.isdir(osp.join(CONFIG_ROOT, d)))


def _leaf_configs():
    """``configs/<folder>/<name>.py`` of every leaf config (not _base_)."""
    return sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(CONFIG_ROOT, '*', '*.py'))
        if osp.basename(osp.dirname(p)) != '_base_')


def _index():
    return load(osp.join(REPO, 'model-index.yml'))


def _metafiles():
    """{path relative to the model index: loaded metafile}."""
    return {p: load(osp.join(REPO, p)) for p in _index()['Import']}


def test_model_index_is_the_packaged_one():
    # mim and mmengine read <package>/.mim/model-index.yml; its Import paths
    # are relative to it, where configs/ is the repository's configs/
    assert osp.samefile(osp.join(PKG_MIM, 'model-index.yml'),
                        osp.join(REPO, 'model-index.yml'))
    assert osp.samefile(osp.join(PKG_MIM, 'configs'), CONFIG_ROOT)
    for path in _index()['Import']:
        assert osp.isfile(osp.join(PKG_MIM, path)), path


def test_one_metafile_per_config_folder():
    imports = _index()['Import']
    assert len(imports) == len(set(imports))
    assert sorted(imports) == sorted(f'configs/{d}/metafile.yml'
                                     for d in _config_folders())


def test_metafiles_load_and_are_well_formed():
    for path, meta in _metafiles().items():
        assert set(meta) == {'Collections', 'Models'}, path
        folder = osp.dirname(path)
        collections = {c['Name'] for c in meta['Collections']}
        assert len(collections) == len(meta['Collections']), path
        for coll in meta['Collections']:
            assert osp.isfile(osp.join(REPO, coll['README'])), coll['Name']
            if 'Paper' in coll:
                assert coll['Paper']['URL'].startswith('https://')
                assert coll['Paper']['Title']
        for model in meta['Models']:
            name = model['Name']
            assert model['Config'] == f'{folder}/{name}.py', name
            assert model['In Collection'] in collections, name
            assert model['Metadata']['Training Data'], name
            weights = model['Weights']
            assert weights == 'not released' or weights.startswith(
                'https://'), name
            if '_tiny_' in name and 'synthetic' in name:
                # CPU miniatures: no published numbers
                assert model['Metadata']['Training Data'] == 'synthetic'
                assert 'Results' not in model, name
            for result in model.get('Results', []):
                assert result['Task'] in TASKS, name
                assert result['Dataset'] in DATASETS, name
                assert result['Metrics'], name
                for value in result['Metrics'].values():
                    assert isinstance(value, float) and 0 < value < 100, name


def test_every_leaf_config_listed_once_and_every_listed_config_exists():
    listed = [
        model['Config'] for meta in _metafiles().values()
        for model in meta['Models']
    ]
    assert len(listed) == len(set(listed)), 'a config is listed twice'
    names = [osp.splitext(osp.basename(p))[0] for p in listed]
    assert len(names) == len(set(names)), 'two models share a name'
    for path in listed:
        assert osp.isfile(osp.join(REPO, path)), path
        assert osp.isfile(osp.join(PKG_MIM, path)), path
    assert sorted(listed) == _leaf_configs()


def test_results_of_some_rows():
    """Spot checks of published numbers against their sources."""
    models = {
        m['Name']: m
        for meta in _metafiles().values()
        for m in meta['Models']
    }

    def ap(name):
        (result, ) = models[name]['Results']
        return result['Dataset'], result['Metrics']['AP']

    assert ap('online-mask2former-mstm_r50_8xb2-16k_ovis_video-pretrain') == (
        'OVIS', 39.5)
    assert ap('stmask_r101-dcn_4xb2-12e_youtubevis2019') == (
        'YouTube-VIS 2019', 36.8)
    assert ap('dvis-plus-refiner-oma_r50_8xb1-40k_ovis') == ('OVIS', 40.4)
    assert ap('dvis-plus-tracker_r50_8xb1-80k_youtubevis2021') == (
        'YouTube-VIS 2021', 50.0)
    # no exact row: no Results
    assert 'Results' not in models['online-mask2former_r50_8xb2-16k_ovis']


def _mim():
    mim = shutil.which('mim', path=osp.dirname(sys.executable))
    if mim is None:
        pytest.skip('openmim (optional extra) is not installed')
    return mim


def _mim_search(*args):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run([_mim(), 'search', 'mmvis_pretrain', *args],
                          capture_output=True,
                          text=True,
                          env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_mim_search_lists_the_configs():
    out = _mim_search()
    ids = re.findall(r'^config id: (\S+)$', out, flags=re.M)
    expected = [osp.splitext(osp.basename(p))[0] for p in _leaf_configs()]
    assert sorted(ids) == sorted(expected)
    assert 'online-mask2former-mstm_r50_8xb2-16k_ovis_video-pretrain' in ids
    assert 'dvis-plus-refiner-oma_r50_8xb1-40k_youtubevis2019' in ids


def test_mim_search_one_config():
    out = _mim_search(
        '--config', 'online-mask2former-mstm_r50_8xb2-16k_ovis_video-pretrain')
    assert re.findall(r'^config id: (\S+)$', out, flags=re.M) == [
        'online-mask2former-mstm_r50_8xb2-16k_ovis_video-pretrain'
    ]
    assert re.search(r'^ovis/ap\s+39\.5$', out, flags=re.M), out
    assert re.search(r'^weight\s+not released$', out, flags=re.M), out


def test_package_scope_base_still_resolves(tmp_path):
    """With the metafiles in place, a ``mmvis_pretrain::`` base (which
    mmengine first looks up in the metafiles) resolves to the same file."""
    import mmvis_pretrain  # noqa: F401
    rel = 'online_vis/online-mask2former_tiny_1xb2-300it_synthetic-vis.py'
    cfg_file = tmp_path / 'exp.py'
    cfg_file.write_text(f"_base_ = 'mmvis_pretrain::{rel}'\n")
    cfg = Config.fromfile(str(cfg_file))
    ref = Config.fromfile(osp.join(CONFIG_ROOT, rel))
    model = cfg.model.to_dict()
    assert model.pop('_scope_') == 'mmvis_pretrain'  # a package-scope base
    assert model == ref.model.to_dict()


def test_mmengine_metainfo_lookup():
    """mmengine.hub.get_config finds a config through its metafile entry."""
    from mmengine.config.utils import _get_cfg_metainfo
    from mmengine.utils import get_installed_path
    rel = 'stmask/stmask_r50-dcn_4xb2-12e_youtubevis2019.py'
    meta = _get_cfg_metainfo(get_installed_path('mmvis_pretrain'), rel)
    assert meta['Config'] == f'configs/{rel}'
    assert meta['Results'][0]['Metrics']['AP'] == 33.5
